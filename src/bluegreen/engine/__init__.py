"""Walking the plan through the ports: observe, switch every host or none, verify, switch back, record."""
