"""roadtest: road-test language models against a team's roadmap hypotheses."""

__version__ = "0.1.0"
