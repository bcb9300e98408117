export { type ChannelLogger, stderrChannelLogger } from "./channel-logger.js";
export {
  type ChannelConsumer,
  type ChannelConsumerOptions,
  createChannelConsumer,
  type EnvelopeHandler,
  type EnvelopeJob,
  UnrecoverableError,
} from "./consumer.js";
export { CONTENT_KEY_LABEL } from "./content-keys.js";
export {
  createDeadLetterQueue,
  DEAD_LETTER_DEFAULTS,
  type DeadLetterLimits,
  type DeadLetterQueue,
  type DeadLetterQueueOptions,
} from "./dead-letter.js";
export { type DevelopmentKeys, ensureDevelopmentKeys } from "./dev-keys.js";
export {
  createInboxRevocations,
  type InboxRevocations,
  type InboxRevocationsOptions,
} from "./inbox-revocations.js";
export {
  CONTENT_ENCRYPTION_ALG,
  DIRECT_KEY_MANAGEMENT_ALG,
  KEY_MANAGEMENT_ALG,
  type KeyHandle,
  type PrivateEncryptionJwk,
  type PrivateSigningJwk,
  type PublicEncryptionJwk,
  type PublicSigningJwk,
  SIGNING_ALG,
} from "./jwk.js";
export {
  KeyFileError,
  keyFilePaths,
  loadPartnerPrivateKeys,
  MissingKeysError,
  PRIVATE_KEYS_FILE,
  PUBLIC_KEYS_FILE,
  readPartnerKeyFile,
  writePartnerKeyFiles,
} from "./key-files.js";
export {
  generatePartnerKeys,
  importPartnerPrivateKeys,
  type PartnerKeyFile,
  type PartnerKeySet,
  type PartnerPrivateKeys,
  type PublicJwks,
  publicJwksOf,
  rotatePartnerKeys,
} from "./keys.js";
export {
  createEnvelopeOpener,
  type EnvelopeOpener,
  type EnvelopeOpenerOptions,
  type EnvelopeRejection,
  MAX_CLOCK_SKEW_SECONDS,
  type OpenResult,
  REJECTION_REASONS,
  type RejectionReason,
} from "./open.js";
export {
  type ClaimsOf,
  ENVELOPE_TYPES,
  type EnvelopeClaims,
  type EnvelopeClaimsBase,
  type EnvelopeType,
  IMPORT_OUTCOMES,
  type ImportOutcome,
  type ImportResultPayload,
  importResultPayloadSchema,
  REVOCATION_REASONS,
  type RevocationReason,
  type ShareOfferPayload,
  type ShareRevokePayload,
  shareOfferPayloadSchema,
  shareRevokePayloadSchema,
} from "./payloads.js";
export {
  type ChannelProducer,
  type ChannelQueue,
  type ChannelQueueOptions,
  createChannelProducer,
} from "./producer.js";
export {
  CHANNEL_JOB_OPTIONS,
  type ChannelJobOptions,
  channelJobOptions,
  channelQueuePrefix,
  DEFAULT_CHANNEL_NAMESPACE,
  type DeadLetterJobData,
  deadLetterQueueName,
  type EnvelopeJobData,
  revocationJobId,
} from "./queues.js";
export {
  type LoadRegistryOptions,
  loadPartnerRegistry,
  type Partner,
  PartnerKeysUnavailableError,
  type PartnerRegistry,
  RegistryError,
  UnknownPartnerError,
} from "./registry.js";
export {
  createEnvelopeSealer,
  type EnvelopeKeyManagement,
  EnvelopeSealError,
  type EnvelopeSealer,
  type EnvelopeSealerOptions,
  envelopeExpiry,
  type SealInput,
} from "./seal.js";
