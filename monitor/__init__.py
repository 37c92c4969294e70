"""Background work on the PostgreSQL job queue: goal checks, alerts, deliveries."""
