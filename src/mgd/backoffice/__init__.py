"""The operator's back office: advisors decide Grandes Clientes requests and follow up registrations."""
