"""Orders and service requests: what a customer asks the operator to change, its state machine, the back
office's handling of it and the provisioning that applies it to the records."""
