export { ChannelTools } from "./channel-tools.js";
export {
  type Answer,
  type ImportView,
  PartnerAClient,
  PartnerBClient,
  SandboxControlClient,
  type ShareView,
  UnexpectedAnswerError,
} from "./clients.js";
export {
  ConfigError,
  developmentDefaults,
  type HarnessConfig,
  type ResolveConfigInput,
  redact,
  resolveConfig,
  SETTINGS,
  secretsOf,
  validateConfig,
} from "./config.js";
export { type PartnerBControls, PartnerBSwitch, shellControls } from "./controls.js";
export {
  formatLoadResult,
  type LatencySummary,
  type LoadOptions,
  type LoadProgress,
  type LoadResult,
  percentile,
  runLoad,
  summarizeLatencies,
} from "./load.js";
export { ProgressBar } from "./progress.js";
export {
  DEFAULT_JUNIT_FILE,
  isReportFormat,
  jsonReport,
  junitReport,
  REPORT_FORMATS,
  type ReportFormat,
  renderReport,
  textReport,
  writeReport,
} from "./reports/index.js";
export {
  missingRequirement,
  type RunEvent,
  type RunOptions,
  type RunSummary,
  runScenarios,
  selectScenarios,
  UnknownScenarioError,
} from "./runner.js";
export {
  ExpectationFailed,
  type Requirement,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  ScenarioSkipped,
  type ScenarioStatus,
} from "./scenario.js";
export { SCENARIOS } from "./scenarios/index.js";
