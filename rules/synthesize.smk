# The synthesizer's code and texts: editing any of them regenerates the export.
SYNTH_CODE = sorted(str(p) for p in Path("src/belmig/synth").iterdir() if p.suffix in (".py", ".yaml"))


rule synthesize_export:
    """The SYNTHETIC raw export, generated from the published figures (default raw_export)."""
    input:
        codebook=CODEBOOK,
        figures="data/published/figures.csv",
        assumed="data/published/assumed.csv",
        bases=f"{PROC}/audit_bases.csv",
        code=SYNTH_CODE,
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
