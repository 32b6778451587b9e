# The synthesizer's code and texts: editing any of them regenerates the export.
SYNTH_CODE = sorted(str(p) for p in Path("src/belmig/synth").iterdir() if p.suffix in (".py", ".yaml"))


rule synthesize_export:
    """The SYNTHETIC raw export, generated from the published figures (default raw_export)."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("synthesize_export", "seed", "synthetic"),
        codebook=CODEBOOK,
        figures=PUBLISHED_FIGURES,
        assumed=ASSUMED_FIGURES,
        bases=rules.audit_published.output.bases,
        code=SYNTH_CODE,
    output:
        export=paths.rel(paths.SYNTHETIC_EXPORT),
        meta=paths.rel(paths.SYNTHETIC_EXPORT) + ".meta.yaml",
    log:
        "logs/synthesize_export.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.synth",
            "--out",
            output.export,
            "--seed",
            config["seed"],
            *(["--scale-n", config["synthetic"]["scale_n"]] if config["synthetic"]["scale_n"] else []),
            "--figures",
            input.figures,
            "--assumed",
            input.assumed,
            "--bases",
            input.bases,
            "--codebook",
            input.codebook,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
