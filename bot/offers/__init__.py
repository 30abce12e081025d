"""Coupons and referrals."""
