// The error every datagram check throws: names what is wrong so a peer or a log line can say it.
export class InvalidDatagramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDatagramError';
  }
}
