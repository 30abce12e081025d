"""Delivery channels (LINE, SMS, email, push) behind one interface; the only importers of their SDKs."""
