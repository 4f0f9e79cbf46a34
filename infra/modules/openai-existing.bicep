// An Azure OpenAI account Tunedrop did not create (AZURE_OPENAI_EXISTING_NAME), deployed at the
// scope of its own resource group: its endpoint is what the account says, since its custom
// subdomain need not be its name.
param name string

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: name
}

output endpoint string = account.properties.endpoint
