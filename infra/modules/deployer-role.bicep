// Storage Blob Data Contributor for the person who ran `azd up` (azd passes their object id as
// principalId): they can drop run files into the inbox with `--auth-mode login`. Storage takes
// no shared keys, so without this they would need a role assignment by hand.
param principalId string
param principalType string
param storageName string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource deployerBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: principalId
    principalType: principalType
  }
}
