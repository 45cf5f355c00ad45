/** Who made a request, as a verified token says. Never holds the token itself. */
export interface Principal {
  issuer: string;
  subject: string;
  groups: string[];
}
