// What a person's code holds, as POST /nat-rounds/{id}/samples reads it
// (src/control/samples.c, ctl_person_code): the person code WG-PERSON:<id>,
// a person id alone, or an ID card number (18 characters, the last a digit
// or X; the server checks the checksum, the region and the date). Anything
// else a camera sees (a venue's poster, a payment code) is not sent.
const PERSON = /^WG-PERSON:([1-9][0-9]{0,11})$/;
const ID_NUMBER = /^[1-9][0-9]{16}[0-9X]$/;
const PERSON_ID = /^[1-9][0-9]{0,11}$/;

/** The code to send for what was scanned, or null when it names no person. */
export function personCode(text) {
  const s = String(text || '').trim();
  if (PERSON.test(s) || PERSON_ID.test(s)) return s;
  const id = s.toUpperCase();
  return ID_NUMBER.test(id) ? id : null;
}
