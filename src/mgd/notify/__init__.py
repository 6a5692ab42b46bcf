"""Notifications: the outbox, the SMS and mail senders, and the actor that delivers them."""
