rule audit_published:
    """Which respondent bases are consistent with each printed figure (GRIM-style)."""
    input:
        nb=f"{NB}/01_audit.ipynb",
        figures=PUBLISHED_FIGURES,
        assumed=ASSUMED_FIGURES,
        codebook=CODEBOOK,
        code=package_code("integrity", skip=("reproduce",)),
    output:
        bases=f"{PROC}/audit_bases.csv",
        groups=f"{PROC}/audit_groups.csv",
        values=f"{VALUES}/audit.json",
        notebook=f"{EXE}/01_audit.ipynb",
    log:
        "logs/audit_published.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "01_audit",
            {
                "figures": input.figures,
                "assumed": input.assumed,
                "codebook": input.codebook,
                "out_bases": output.bases,
                "out_groups": output.groups,
                "out_values": output.values,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
