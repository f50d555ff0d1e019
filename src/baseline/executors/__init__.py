"""Where the candidates run: the local executor is ``baseline.runner.run_all``; ``ray`` runs them on Ray."""
