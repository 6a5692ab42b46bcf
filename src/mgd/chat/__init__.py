"""The advisors' help chat: opening hours, conversations with their context, the back office's desk, the
survey after a closed conversation (``docs/chat.md``)."""
