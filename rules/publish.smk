# Disclosure control of the published values (docs/disclosure.md): which values the report,
# its appendix and the reviewers' index may print. The audit reads everything published anyway
# (charts, the raking and coding tables, the release) and the internal responses (to know which
# counts are small); the decision file is internal, the values it allows are public.

# The text whose printed values are protected: English. Every other edition prints exactly the
# same values (the parity check of rule render_edition fails the build otherwise), so reading only
# English decides the same set, and editing a translation does not re-audit and re-render all.
REPORT_EDITIONS = ["report/report.qmd"]
# REPORT_KEYS (rules/common.smk): the keys that text prints and its claim conditions read
# (belmig.report.textkeys), written when the Snakefile is parsed and rewritten only when they
# change: the audit reads this file, not the text, so rewording a sentence re-renders the report
# without re-running the audit.
TEXTKEY_CODE = [
    f"src/belmig/report/{m}.py"
    for m in ("textkeys", "keycheck", "guards", "claims", "claimcheck", "prose", "shortcodes")
]

from belmig.report import textkeys

textkeys.write_if_changed(
    REPORT_KEYS,
    parsecache.cached(
        "report_keys",
        [*REPORT_EDITIONS, "report/claims.yaml", *TEXTKEY_CODE],
        lambda: textkeys.text_keys(REPORT_EDITIONS, "report/claims.yaml"),
    ),
)
# The disclosure-control code the audit runs: editing it re-audits.
PRIVACY_CODE = [
    f"src/belmig/privacy/{m}.py" for m in ("__init__", "__main__", "audit", "publish", "inputs", "suppress")
] + ["src/belmig/report/textkeys.py"]


rule protect_values:
    """Primary and secondary suppression over every value the report prints (an exact audit)."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("protect_values", "privacy", "weighting", "cleaning"),
        ledger=paths.rel(paths.LEDGER),  # rule merge_ledger (rules/report.smk)
        responses=rules.clean_responses.output.responses,
        codebook=CODEBOOK,
        text_keys=REPORT_KEYS,
        levels=rules.estimate_values.output.levels,
        charts=rules.draw_charts.output.data,
        figures=PUBLISHED_FIGURES,
        reproduction=rules.estimate_values.output.reproduction,
        weighting=rules.rake_weights.output.diagnostics,
        coding=rules.clean_responses.output.other,
        release=rules.export_microdata.output.csv,
        release_report=rules.export_microdata.output.kanonymity,
        code=PRIVACY_CODE,
    output:
        # update(): the last decisions stay in place while the job runs, so that an edit of the
        # report's wording that prints the same values reuses them (same digest of all it reads)
        public=update(f"{PROC}/public_values.json"),
    log:
        "logs/protect_values.log",
    # on the way to the English PDF: scheduled before the jobs beside it (editions, HTML)
    priority: 10
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.privacy",
            "protect",
            "--ledger",
            input.ledger,
            "--responses",
            input.responses,
            "--codebook",
            input.codebook,
            "--text-keys",
            input.text_keys,
            "--charts",
            *input.charts,
            "--figures",
            input.figures,
            "--reproduction",
            input.reproduction,
            "--weighting",
            input.weighting,
            "--weighting-config",
            json.dumps(config["weighting"]),
            "--coding",
            input.coding,
            "--release",
            input.release,
            "--release-report",
            input.release_report,
            "--levels",
            input.levels,
            "--privacy",
            json.dumps(config["privacy"]),
            "--cleaning",
            json.dumps(config["cleaning"]),
            "--out",
            output.public,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
