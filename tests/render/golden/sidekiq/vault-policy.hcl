# vault-policy.hcl.j2 for preview shop-pr-42; rendered by nomad-previews, edit the template instead.

# Vault policy preview-shop-pr-42: reads this preview's secrets and the shared test-mode
# secrets, nothing else. No list on the parent path, so other previews' key names stay hidden.
path "kv/data/previews/shop-pr-42/*" {
  capabilities = ["read"]
}

path "kv/metadata/previews/shop-pr-42/*" {
  capabilities = ["read", "list"]
}

path "kv/data/previews-shared/*" {
  capabilities = ["read"]
}
