"""Package data, installed as `bundler.recipe_data`: the recipes, the supervisor locks and the
vendored Apache defaults. Read it through bundler.recipes.package_data, never by path from the code."""
