// Cognitive Services OpenAI Contributor on the Azure OpenAI account: files, fine-tuning jobs and
// chat (data actions accounts/OpenAI/*), plus creating and deleting model deployments through
// ARM (accounts/deployments/write and /delete). Nothing else on the account.
param principalId string
param openAiName string

var cognitiveServicesOpenAiContributor = 'a001fd3d-188f-4b5d-821b-7da978bf7442'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: openAiName
}

resource openAiContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, cognitiveServicesOpenAiContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAiContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
