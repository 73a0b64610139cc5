"""The usage service: workspaces, API keys, and the meters of what each workspace used."""
