"""Receivers that turn source status changes into article flags."""
