"""Data back to the insurer's systems: what happened here (requests, bookings, consents, coupons, deliveries) as
files their CRM and agencies read (`flask export`)."""
