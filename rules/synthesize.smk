rule synthesize_export:
    """The SYNTHETIC raw export, generated from the published figures (default raw_export)."""
    input:
        codebook=CODEBOOK,
        figures="data/published/figures.csv",
        assumed="data/published/assumed.csv",
        bases=f"{PROC}/audit_bases.csv",
        code="src/belmig/synth.py",
    output:
        export="data/raw/synthetic_export.csv",
        meta="data/raw/synthetic_export.csv.meta.yaml",
    conda:
        "../environment.yml"
    log:
        "logs/synthesize_export.log",
    params:
        seed=config["seed"],
        scale=f"--scale-n {config['synthetic']['scale_n']}" if config["synthetic"]["scale_n"] else "",
    shell:
        "python -m belmig.synth --out {output.export} --seed {params.seed} {params.scale} "
        "--figures {input.figures} --assumed {input.assumed} --bases {input.bases} > {log} 2>&1"
