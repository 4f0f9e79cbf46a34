// The Azure OpenAI account Tunedrop fine-tunes and deploys models in. Keys are off: only
// Entra ID tokens (the app's identity) are accepted, on the account's own subdomain.
param name string
param location string
param tags object
param deployBaseModel bool
param deployGraderModel bool
param modelName string
param modelVersion string
param graderModelName string
param graderModelVersion string
param capacity int

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

// The base model, for side-by-side chat with a tuned one (BASE_DEPLOYMENT).
resource baseDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = if (deployBaseModel) {
  parent: account
  name: modelName
  sku: {
    name: 'GlobalStandard'
    capacity: capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: modelName
      version: modelVersion
    }
  }
}

// The evaluation grader (the base model unless told otherwise), kept apart from the base
// model's deployment so that grading never throttles side-by-side chat.
resource graderDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = if (deployGraderModel) {
  parent: account
  name: '${graderModelName}-grader'
  sku: {
    name: 'GlobalStandard'
    capacity: capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: graderModelName
      version: graderModelVersion
    }
  }
  dependsOn: [baseDeployment]
}

output name string = account.name
output endpoint string = account.properties.endpoint
