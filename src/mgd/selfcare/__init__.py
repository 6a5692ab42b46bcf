"""Mi Área: the signed-in customer's own pages, starting with the first-session onboarding."""
