import { createHash } from "node:crypto";
import type { SandboxWorkflow } from "./applications.js";
import { emptyFeatureBlocks, type FeatureBlocks, type FeatureItem } from "./store.js";

/**
 * Plausible verification results for a finished sandbox session
 * (docs/DIDIT.md#decision-update-status-list-delete). Values derive from the session id, so a session always
 * shows the same person; `expected_details` win where given, as a real flow would match them.
 */

interface Person {
  first_name: string;
  last_name: string;
  gender: "M" | "F";
  issuing_state: string;
  issuing_state_name: string;
  address: string;
  country_code: string;
}

// Non-ASCII names on purpose: webhook signing must escape them (docs/DIDIT.md#traps).
const PEOPLE: readonly Person[] = [
  {
    first_name: "Elena",
    last_name: "García Ruiz",
    gender: "F",
    issuing_state: "ESP",
    issuing_state_name: "Spain",
    address: "Calle de Alcalá 42, 28014 Madrid",
    country_code: "ES",
  },
  {
    first_name: "Lukas",
    last_name: "Schneider",
    gender: "M",
    issuing_state: "DEU",
    issuing_state_name: "Germany",
    address: "Hauptstraße 12, 10115 Berlin",
    country_code: "DE",
  },
  {
    first_name: "Amélie",
    last_name: "Laurent",
    gender: "F",
    issuing_state: "FRA",
    issuing_state_name: "France",
    address: "12 Rue de Rivoli, 75001 Paris",
    country_code: "FR",
  },
  {
    first_name: "João",
    last_name: "Silva",
    gender: "M",
    issuing_state: "PRT",
    issuing_state_name: "Portugal",
    address: "Rua Augusta 100, 1100-053 Lisboa",
    country_code: "PT",
  },
  {
    first_name: "James",
    last_name: "Miller",
    gender: "M",
    issuing_state: "GBR",
    issuing_state_name: "United Kingdom",
    address: "10 Baker Street, London NW1 6XE",
    country_code: "GB",
  },
];

const COMPANIES = ["Northwind Trading S.L.", "Blue Harbor GmbH", "Atelier Lumière SAS", "Kestrel Labs Ltd"];

const MEDIA_BASE = "https://media.sandbox.didit.invalid";

class SeededDigits {
  readonly #bytes: Buffer;
  #index = 0;
  constructor(seed: string) {
    this.#bytes = createHash("sha512").update(seed).digest();
  }
  /** An integer in [0, n). */
  next(n: number): number {
    const a = this.#bytes[this.#index++ % this.#bytes.length] as number;
    const b = this.#bytes[this.#index++ % this.#bytes.length] as number;
    return ((a << 8) | b) % n;
  }
  digits(count: number): string {
    let out = "";
    for (let i = 0; i < count; i++) out += String(this.next(10));
    return out;
  }
  /** A score with two decimals in [min, max). */
  score(min: number, max: number): number {
    return Math.round((min + (this.next(10_000) / 10_000) * (max - min)) * 100) / 100;
  }
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function yearsBetween(dateOfBirth: string, now: Date): number {
  const [year, month, day] = dateOfBirth.split("-").map(Number) as [number, number, number];
  let age = now.getUTCFullYear() - year;
  if (now.getUTCMonth() + 1 < month || (now.getUTCMonth() + 1 === month && now.getUTCDate() < day)) age -= 1;
  return age;
}

function media(sessionId: string, name: string): string {
  return `${MEDIA_BASE}/${sessionId}/${name}.jpg?X-Amz-Expires=3600&X-Amz-Signature=sandbox`;
}

export interface GeneratedResults {
  features: string[];
  blocks: FeatureBlocks;
}

export function featuresOf(kind: SandboxWorkflow["kind"]): string[] {
  switch (kind) {
    case "kyc":
      return ["ID_VERIFICATION", "LIVENESS", "FACE_MATCH", "AML", "IP_ANALYSIS"];
    case "reusable_kyc":
      return ["LIVENESS", "FACE_MATCH"];
    case "kyb":
      return ["DOCUMENT_AI", "AML", "QUESTIONNAIRE", "IP_ANALYSIS"];
  }
}

export interface ResultInput {
  sessionId: string;
  kind: SandboxWorkflow["kind"];
  expectedDetails: Record<string, unknown> | null;
  now: Date;
}

/** Feature blocks as they stand right after the flow ran; statuses are set by `applyVerdict`. */
export function generateResults(input: ResultInput): FeatureBlocks {
  const random = new SeededDigits(input.sessionId);
  const blocks = emptyFeatureBlocks();
  const ipBlock = (): FeatureItem[] => [
    {
      node_id: "feature_ip_analysis_1",
      status: "Approved",
      ip_address: `203.0.113.${random.next(250) + 1}`,
      ip_country: "Spain",
      ip_country_code: "ES",
      is_vpn_or_tor: false,
      device_brand: "Apple",
      platform: "mobile",
      warnings: [],
    },
  ];

  if (input.kind === "kyb") {
    const company = COMPANIES[random.next(COMPANIES.length)] as string;
    blocks.document_ai_documents = [
      {
        node_id: "feature_document_ai_1",
        status: "Approved",
        document_type: "Certificate of Incorporation",
        company_name: company,
        registration_number: `B${random.digits(8)}`,
        file: media(input.sessionId, "certificate"),
        warnings: [],
      },
    ];
    blocks.aml_screenings = [
      {
        node_id: "feature_aml_1",
        status: "Approved",
        entity_type: "company",
        total_hits: 0,
        score: 0,
        hits: [],
        warnings: [],
      },
    ];
    blocks.questionnaire_responses = [
      {
        node_id: "feature_questionnaire_1",
        status: "Approved",
        answers: [
          { question: "Nature of business", answer: "Software services" },
          { question: "Expected monthly volume (EUR)", answer: "10000-50000" },
        ],
      },
    ];
    blocks.ip_analyses = ipBlock();
    return blocks;
  }

  const person = PEOPLE[random.next(PEOPLE.length)] as Person;
  const expected = input.expectedDetails ?? {};
  const text = (key: string, fallback: string) =>
    typeof expected[key] === "string" && (expected[key] as string).length > 0
      ? (expected[key] as string)
      : fallback;
  const firstName = text("first_name", person.first_name);
  const lastName = text("last_name", person.last_name);
  const dateOfBirth = text(
    "date_of_birth",
    `${1960 + random.next(40)}-${pad(random.next(12) + 1)}-${pad(random.next(28) + 1)}`,
  );
  const issuedYear = input.now.getUTCFullYear() - 1 - random.next(5);
  const issued = `${issuedYear}-${pad(random.next(12) + 1)}-${pad(random.next(28) + 1)}`;
  const expires = `${issuedYear + 10}${issued.slice(4)}`;
  const gender = expected.gender === "M" || expected.gender === "F" ? expected.gender : person.gender;

  blocks.liveness_checks = [
    {
      node_id: "feature_liveness_1",
      status: "Approved",
      method: "PASSIVE",
      score: random.score(90, 99.5),
      reference_image: media(input.sessionId, "liveness_reference"),
      video_url: null,
      age_estimation: random.score(20, 60),
      warnings: [],
    },
  ];
  blocks.face_matches = [
    {
      node_id: "feature_face_match_1",
      status: "Approved",
      score: random.score(85, 99),
      source_image: media(input.sessionId, "face_source"),
      target_image: media(input.sessionId, "face_target"),
      warnings: [],
    },
  ];
  if (input.kind === "reusable_kyc") return blocks;

  blocks.id_verifications = [
    {
      node_id: "feature_ocr_1",
      status: "Approved",
      document_type: "Identity Card",
      document_subtype: null,
      document_number: `${String.fromCharCode(65 + random.next(26))}${random.digits(8)}`,
      personal_number: random.digits(9),
      portrait_image: media(input.sessionId, "portrait"),
      front_image: media(input.sessionId, "front"),
      front_video: null,
      back_image: media(input.sessionId, "back"),
      back_video: null,
      full_front_image: media(input.sessionId, "full_front"),
      full_back_image: media(input.sessionId, "full_back"),
      front_image_camera_front: null,
      back_image_camera_front: null,
      date_of_birth: dateOfBirth,
      age: /^\d{4}-\d{2}-\d{2}$/.test(dateOfBirth) ? yearsBetween(dateOfBirth, input.now) : null,
      expiration_date: expires,
      date_of_issue: issued,
      issuing_state: text("id_country", person.issuing_state),
      issuing_state_name:
        typeof expected.id_country === "string" ? expected.id_country : person.issuing_state_name,
      first_name: firstName,
      last_name: lastName,
      full_name: `${firstName} ${lastName}`,
      gender,
      address: person.address,
      formatted_address: `${person.address}, ${person.issuing_state_name}`,
      warnings: [],
    },
  ];
  blocks.aml_screenings = [
    {
      node_id: "feature_aml_1",
      status: "Approved",
      entity_type: "person",
      total_hits: 0,
      score: 0,
      hits: [],
      warnings: [],
    },
  ];
  blocks.ip_analyses = ipBlock();
  return blocks;
}

/** The block whose outcome a non-approved verdict is pinned on. */
const DECIDING_BLOCK = {
  kyc: "id_verifications",
  reusable_kyc: "face_matches",
  kyb: "aml_screenings",
} as const;

const REVIEW_BLOCK = {
  kyc: "face_matches",
  reusable_kyc: "face_matches",
  kyb: "document_ai_documents",
} as const;

/** Sets feature statuses so they agree with the session verdict. */
export function applyVerdict(blocks: FeatureBlocks, kind: SandboxWorkflow["kind"], verdict: string): void {
  for (const items of Object.values(blocks)) {
    for (const item of items ?? [])
      item.status =
        verdict === "Approved" || verdict === "Declined" || verdict === "In Review"
          ? "Approved"
          : "Not Finished";
  }
  const pinTo =
    verdict === "Declined" ? DECIDING_BLOCK[kind] : verdict === "In Review" ? REVIEW_BLOCK[kind] : undefined;
  const item = pinTo === undefined ? undefined : blocks[pinTo]?.[0];
  if (!item) return;
  item.status = verdict;
  item.warnings =
    verdict === "Declined"
      ? [
          {
            risk: kind === "kyb" ? "POSSIBLE_MATCH_FOUND" : "DOCUMENT_EXPIRED",
            log_type: "error",
            short_description: "Declined in the sandbox",
          },
        ]
      : [
          {
            risk: "LOW_FACE_MATCH_SIMILARITY",
            log_type: "warning",
            short_description: "Sent to review in the sandbox",
          },
        ];
}
