public enum RPCMethod {
    public static let getDynamicGlobalProperties = "condenser_api.get_dynamic_global_properties"
    public static let getBlock = "condenser_api.get_block"
    public static let getConfig = "condenser_api.get_config"
    public static let getFollowing = "condenser_api.get_following"
    public static let getAccounts = "condenser_api.get_accounts"
    public static let getBlockRange = "block_api.get_block_range"
}
