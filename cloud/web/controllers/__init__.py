"""The console's route handlers, one module per page family; each calls a service and renders."""
