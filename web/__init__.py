"""App assembly: settings, routes, middleware, lifespan, and the qdn command."""
