/**
 * @module tanium/action/record
 * What an action-history row says (connect-exports.md §1): an action a console user issued to
 * endpoints (a package's command), its approval, status and lifetime. In Tanium's terms,
 * independent of any output schema.
 */

export interface ActionRecord {
  /** Which Tanium shape this record was read from: Connect's action history. */
  readonly shape: "action";
  /** `ActionId`, an integer, as text. */
  actionId?: string;
  /** `ActionName`. */
  name?: string;
  /** `Command`: the command line the endpoints ran. */
  command?: string;
  /**
   * The command's arguments, split as its platform splits them (`windows` / `posix`), when the
   * command says which platform it is for or both splits agree.
   */
  args?: string[];
  /** `PackageName`. */
  packageName?: string;
  /** `Issuer` as sent, and split when it is `DOMAIN\name`. */
  issuer?: string;
  issuerName?: string;
  issuerDomain?: string;
  /** `Approver` as sent (`CORP\asmith`), and its name without the domain. */
  approver?: string;
  approverName?: string;
  /** `Status` as sent: `Open`, `Closed`, `Expired`, `Stopped`. */
  status?: string;
  /** `DistributeOver` as sent (`10minutes`). */
  distributeOver?: string;
  comment?: string;
  /** `SourceId`: the saved action or package the action came from. */
  sourceId?: number;
  /** `StartTime`, `InsertTime`, `Expiration`, in UTC (sent without a zone: the server's UTC clock). */
  startTime?: string;
  insertTime?: string;
  expiration?: string;
  /** Keys no reader claims, as spelled, with their values (a null-prototype object). */
  unmapped: Record<string, unknown> | undefined;
  unmappedKeys: string[];
}
