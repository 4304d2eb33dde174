"""The stack model: template.yml and one samconfig.toml config env, read and evaluated once (stack.model),
handed down to what runs it. The only part of devstack that opens either file."""
