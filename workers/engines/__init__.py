"""Speech engines behind one streaming protocol (see base.py)."""
