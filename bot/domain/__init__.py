"""The domain: what scanbot knows about scans, watches, events and the messages it owes.

Pure values and rules, importing nothing but the standard library and each other (enforced by
``tests/test_import_rules.py``): image references, what a progress answer means, the watch,
events, owed messages, results, estimates, permissions, the console's value types, the
regular scan's runs and subscriptions, and the protocols the adapters implement.
"""
