"""Intelligence layer: environments over the orchestration API, baselines, the oracle and DRL agents."""
