/**
 * The upstream requests one teardown has sent, every attempt counted (a resend after a 429 or a
 * 5xx is a request DialNexa counts against the key too). It starts from the count a teardown has
 * recorded, so the figure runs on across claims and restarts.
 */
export class RequestTally {
  constructor(private sent = 0) {}

  get count(): number {
    return this.sent;
  }

  add(): void {
    this.sent += 1;
  }
}
