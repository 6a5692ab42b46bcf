"""The public shell of the portal: home page, language choice and the help button."""
