"""Resource modules. Each exposes register(registry); app.RESOURCE_MODULES lists the active ones."""
