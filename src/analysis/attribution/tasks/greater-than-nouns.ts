// The event nouns of Hanna et al. 2023's greater-than prompts ("The {noun} lasted from the year …"), the list their
// dataset samples from (hannamw/gpt2-greater-than, also used by ACDC and EAP-IG). Data, one word each.
export const GREATER_THAN_NOUNS: readonly string[] = (
  "abduction accord affair agreement appraisal assaults assessment attack attempts campaign captivity case challenge " +
  "chaos clash collaboration coma competition confrontation consequence conspiracy construction consultation contact " +
  "contract convention cooperation custody deal decline decrease demonstrations development disagreement disorder " +
  "dispute domination dynasty effect effort employment endeavor engagement epidemic evaluation exchange existence " +
  "expansion expedition experiments fall fame flights friendship growth hardship hostility illness impact imprisonment " +
  "improvement incarceration increase insurgency invasion investigation journey kingdom marriage modernization " +
  "negotiation notoriety obstruction operation order outbreak outcome overhaul patrols pilgrimage plague plan practice " +
  "process program progress project pursuit quest raids reforms reign relationship retaliation riot rise rivalry " +
  "romance rule sanctions shift siege slump stature stint strikes study test testing tests therapy tour tradition " +
  "treaty trial trip unemployment voyage warfare work"
).split(" ");
