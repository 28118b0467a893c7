project = "stripe_django"
extensions: list = []
exclude_patterns = ["_build", "dev"]
