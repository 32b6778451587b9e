"""An attack suite against a build's public outputs, written as the adversary of issue 14.

Given a build directory, the suite reads only what the public receives (the manifest), pulls
every number an attacker can read out of it, and runs the attacks a statistical office would
run before release: differencing of tables that share totals, matching of small-group profiles
against the released microdata, k-anonymity counted with the attacker's knowledge, undoing
recodes through the released weights, and a scan for free text, identifiers, absolute paths,
failed notebooks and submission order. ``python -m tests.attacks.run BUILD_DIR`` runs it all.

The attack code never imports ``belmig``: an attacker has only the published files (and the
public repository's questionnaire, see README.md).
"""
