"""Staff: the admin chat's access and audit, service requests and notices, the dashboard and its charts."""
