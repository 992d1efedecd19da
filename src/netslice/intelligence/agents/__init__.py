"""DRL agents: PPO (and later its safe, multi-agent and offline variants)."""
