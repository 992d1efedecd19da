"""Policies behind one protocol: baselines (static, rule-based), the oracle, and trained agents."""
