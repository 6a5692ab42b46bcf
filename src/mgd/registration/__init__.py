"""Self-registration of SMEs (a persisted state machine) and the Grandes Clientes access request."""
