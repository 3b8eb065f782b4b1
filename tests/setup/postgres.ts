import { startSharedCluster } from "../helpers/postgres";

/** `npm run test:postgres`: one PostgreSQL cluster for the whole suite; every engine gets a database of its own. */
export default function setup(): () => void {
  return startSharedCluster();
}
