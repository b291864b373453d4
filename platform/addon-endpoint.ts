/** An add-on server a dyno may reach (its app has an attachment): TCP to host:port. */
export interface AddonEndpoint {
  host: string;
  port: number;
}
