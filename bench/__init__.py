"""The benchmark: scanbot's speed, memory and Slack calls beside baselines measured in the same
run.  Not part of the installed package; run it from a checkout as ``python -m bench``."""
