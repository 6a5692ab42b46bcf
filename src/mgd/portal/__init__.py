"""The public shell of the portal: home page and language choice (the help button: ``mgd.chat``)."""
