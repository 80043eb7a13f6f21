"""Playbooks: the format (:mod:`.model`), loading one file with positioned problems
(:mod:`.check`, :mod:`.toml_positions`), placeholders (:mod:`.placeholders`), the
defaults and the seller's own folder (:mod:`.catalog`), advice beyond errors
(:mod:`.lint`), and writing and editing them (:mod:`.authoring`)."""
